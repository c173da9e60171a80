// Channel webhooks: verify the signature first, store, hand to the workflow, answer the channel.
import type { FastifyPluginAsync } from 'fastify';
import type { ChannelRegistry } from '../../channels/registry';
import { DomainError } from '../../domain/errors';
import type { NotificationInbox } from '../../services/inbox';
import { sendProblem } from '../problems';

export const webhookRoutes: FastifyPluginAsync<{
  channels: ChannelRegistry;
  inbox: NotificationInbox;
}> = async (app, { channels, inbox }) => {
  // Signatures cover the exact bytes the channel sent, whatever its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post<{ Params: { channel: string } }>('/:channel', async (req, reply) => {
    const channel = channels.get(req.params.channel);
    if (!channel) return sendProblem(reply, 404, 'NOT_FOUND', `no channel ${req.params.channel}`);
    const incoming = {
      headers: req.headers,
      rawBody: typeof req.body === 'string' ? req.body : '',
    };
    await channel.prepareVerification?.(incoming);
    let verified;
    try {
      verified = channel.verifyNotification(incoming);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      req.log.warn(
        { channel: channel.name, code: err.code, ip: req.ip },
        'channel notification rejected before touching any state',
      );
      throw err;
    }
    const verdict = await inbox.receive(channel, incoming, verified);
    const answer = verdict === 'accepted' ? channel.replies.accepted : channel.replies.rejected;
    return reply.status(answer.status).type(answer.contentType).send(answer.body);
  });
};
