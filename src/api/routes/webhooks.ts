// Channel webhooks: verify the signature first, store, hand to the workflow, answer the channel.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChannelRegistry } from '../../channels/registry';
import { DomainError } from '../../domain/errors';
import type { NotificationInbox } from '../../services/inbox';
import { problemResponses, sendProblem } from '../problems';

const channelReply = (description: string) => ({
  description,
  content: { '*/*': { schema: z.string() } },
});

export const webhookRoutes: FastifyPluginAsyncZod<{
  channels: ChannelRegistry;
  inbox: NotificationInbox;
}> = async (app, { channels, inbox }) => {
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
    },
  );
};
