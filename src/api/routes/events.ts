// The merchant API's events (/v1/events): what paycenter sent, or is sending, to the merchant's
// notify URL, every try of it, and a redelivery on request.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { MerchantEventService } from '../../services/merchantEvents';
import { merchantAuthentication, type MerchantAuthOptions } from '../auth';
import { idempotency, type IdempotencyOptions } from '../idempotency';
import { problemResponses } from '../problems';
import {
  eventIdParamSchema,
  eventListSchema,
  eventViewSchema,
  listEventsQuerySchema,
  redeliverySchema,
} from '../schemas/events';

export interface EventRoutesOptions extends MerchantAuthOptions, IdempotencyOptions {
  events: MerchantEventService;
}

const tags = ['Events'];

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, options) => {
  await app.register(merchantAuthentication, options);
  await app.register(idempotency, options);

  app.get(
    '/events',
    {
      schema: {
        operationId: 'listEvents',
        summary: 'List the events sent to the notify URL, newest first',
        description:
          'An event is kept for every notification of an order that has a notify URL. Filters ' +
          'combine with AND. Pagination is by cursor: pass `nextCursor` as `cursor` for the next, ' +
          'older page.',
        tags,
        querystring: listEventsQuerySchema,
        response: {
          200: eventListSchema.meta({ description: 'One page of events' }),
          ...problemResponses(400),
        },
      },
    },
    async (req) => options.events.list(req.merchantId, req.query),
  );

  app.get(
    '/events/:id',
    {
      schema: {
        operationId: 'getEvent',
        summary: 'Read an event with every try to deliver it',
        tags,
        params: eventIdParamSchema,
        response: {
          200: eventViewSchema.meta({ description: 'The event' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) => options.events.get(req.merchantId, req.params.id),
  );

  app.post(
    '/events/:id/redeliver',
    {
      schema: {
        operationId: 'redeliverEvent',
        summary: 'Send an event to the notify URL once more',
        description:
          'Whatever its status: a FAILED event becomes DELIVERED when the merchant answers 2xx. ' +
          'The same body and event ID as before, signed anew. The try is made shortly after the ' +
          'answer and shows in the event’s `attempts` under the answered `id`. Each request is ' +
          'one more try; send an `Idempotency-Key` to make a retried request answer the first ' +
          'one instead of sending again.',
        tags,
        params: eventIdParamSchema,
        response: {
          202: redeliverySchema.meta({ description: 'The redelivery is queued' }),
          ...problemResponses(400, 404, 409),
        },
      },
    },
    async (req, reply) => {
      const { queued } = await options.events.redeliver(req.merchantId, req.params.id);
      return reply.status(202).send(queued);
    },
  );
};
