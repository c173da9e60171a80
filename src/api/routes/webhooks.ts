// Channel webhooks: verify the signature first, store, answer; the inbox hands over after.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChannelRegistry } from '../../channels/registry';
import { DomainError } from '../../domain/errors';
import { refuseUnstorableText } from '../../domain/storableText';
import type { ApiMetrics } from '../../metrics';
import type { NotificationInbox } from '../../services/inbox';
import { problemResponses, sendProblem } from '../problems';

const channelReply = (description: string) => ({
  description,
  content: { '*/*': { schema: z.string() } },
});

export const webhookRoutes: FastifyPluginAsyncZod<{
  channels: ChannelRegistry;
  inbox: NotificationInbox;
  metrics: Pick<ApiMetrics, 'webhookAckSeconds' | 'notificationsRejected'>;
}> = async (app, { channels, inbox, metrics }) => {
  // Signatures cover the exact bytes the channel sent, whatever its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post(
    '/:channel',
    {
      schema: {
        operationId: 'channelNotification',
        summary: "A channel's payment or refund notification",
        description:
          'Signed by the channel (verified over the exact bytes before anything is stored), in ' +
          'its own format; answered in the form the channel expects.',
        tags: ['Webhooks'],
        security: [],
        consumes: ['*/*'],
        params: z.object({
          channel: z.string().meta({ description: 'alipay, wechatpay, bankcard, ...' }),
        }),
        body: z.unknown().meta({ description: 'The notification exactly as the channel sent it' }),
        response: {
          200: channelReply('Accepted: the channel stops retrying'),
          default: channelReply('Refused for now (no such channel order yet): the channel retries'),
          ...problemResponses(401, 404),
        },
      },
    },
    async (req, reply) => {
      const channel = channels.get(req.params.channel);
      if (!channel) {
        // Not the name from the URL: anyone can make up a new one per request.
        metrics.notificationsRejected.inc({ channel: 'unknown', reason: 'unknown_channel' });
        return sendProblem(reply, 404, 'NOT_FOUND', `no channel ${req.params.channel}`);
      }
      const incoming = {
        headers: req.headers,
        rawBody: typeof req.body === 'string' ? req.body : '',
      };
      await channel.prepareVerification?.(incoming);
      let verified;
      try {
        verified = channel.verifyNotification(incoming);
        // Signed, but holding text that cannot be stored: refused before the inbox stores it.
        refuseUnstorableText(
          verified,
          '',
          () => `${channel.name} notification holds text that cannot be stored`,
        );
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        req.log.warn(
          { channel: channel.name, code: err.code, ip: req.ip },
          'channel notification rejected before touching any state',
        );
        // A signature that fails is a forgery; a signed notification we cannot read is malformed.
        const reason = err.code === 'INVALID_SIGNATURE' ? 'forged' : 'malformed';
        metrics.notificationsRejected.inc({ channel: channel.name, reason });
        throw err;
      }
      const verdict = await inbox.receive(channel, incoming, verified);
      if (verdict === 'retry') {
        metrics.notificationsRejected.inc({ channel: channel.name, reason: 'unmatched' });
      }
      const answer = verdict === 'accepted' ? channel.replies.accepted : channel.replies.rejected;
      // From the request's arrival to the answer the channel waits for (hand-over comes after).
      metrics.webhookAckSeconds.observe(
        { channel: channel.name, verdict },
        reply.elapsedTime / 1000,
      );
      return reply.status(answer.status).type(answer.contentType).send(answer.body);
    },
  );
};
