// A pay URL as a QR code the payer scans with the channel's app, drawn by the qrcode library as
// SVG (no image request, nothing the page's content policy has to allow).
import QRCode from 'qrcode';

export function qrCodeSvg(payUrl: string): Promise<string> {
  // Level M survives a smudged or partly covered screen; the margin is the scanners' quiet zone.
  return QRCode.toString(payUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
