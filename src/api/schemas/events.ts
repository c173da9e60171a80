// Request and answer shapes of the merchant API's events (/v1/events): what paycenter told, or
// tries to tell, the merchant's notify URL, with every try.
import { z } from 'zod';
import { merchantEventTypes } from '../../domain/merchantEvents';
import { eventIdPattern, eventIdSchema, payOrderIdSchema } from '../../domain/schemas';
import { createdWindowFields, createdWindowInOrder, listSchema, pageFields } from './listing';

const eventStatuses = ['PENDING', 'DELIVERED', 'FAILED'] as const;

export const eventIdParamSchema = z.object({ id: eventIdSchema });

export const listEventsQuerySchema = z
  .object({
    type: z
      .enum(merchantEventTypes, { error: () => `must be one of: ${merchantEventTypes.join(', ')}` })
      .optional(),
    payOrderId: payOrderIdSchema.optional().meta({ description: 'Only the events of this order.' }),
    status: z
      .enum(eventStatuses, { error: () => `must be one of: ${eventStatuses.join(', ')}` })
      .optional()
      .meta({
        description:
          'PENDING: still being tried; DELIVERED: the merchant answered 2xx; FAILED: every try of ' +
          'the schedule failed (a redelivery may still deliver it).',
      }),
    ...createdWindowFields('events'),
    ...pageFields(eventIdPattern),
  })
  .strict()
  .superRefine(createdWindowInOrder);

/** One POST of an event to the merchant's notify URL. */
export const deliveryTrySchema = z.object({
  id: z.string(),
  attemptNo: z
    .number()
    .int()
    .meta({ description: "The try's place among the event's tries, from 1" }),
  trigger: z.enum(['SCHEDULE', 'REDELIVERY']).meta({
    description: "SCHEDULE: one of the event's own tries; REDELIVERY: asked for afterwards",
  }),
  attemptedAt: z.iso.datetime(),
  responseStatus: z.number().int().nullable(),
  durationMs: z.number().int().nullable().meta({
    description: 'From the request to its outcome; null for tries made before it was kept',
  }),
  error: z.string().nullable().meta({
    description:
      'why the try failed: HTTP_3XX, HTTP_4XX, HTTP_5XX, TIMEOUT, CONNECTION_REFUSED, ADDRESS_NOT_ALLOWED, ...',
  }),
});

export const eventSummarySchema = z.object({
  id: z.string().meta({ description: 'The event ID the merchant deduplicates by' }),
  type: z.enum(merchantEventTypes),
  createdAt: z.iso.datetime(),
  payOrderId: z.string(),
  status: z.enum(eventStatuses),
  deliveredAt: z.iso.datetime().nullable(),
  notifyUrl: z.string().meta({ description: 'Where it is sent: the order’s notify URL' }),
  data: z
    .object({
      payOrderId: z.string(),
      merchantOrderNo: z.string(),
      status: z.string().meta({ description: "The pay order's status when the event happened" }),
      amount: z.number().int(),
      currency: z.string(),
      refund: z
        .object({
          id: z.string(),
          amount: z.number().int(),
          reason: z.string(),
          status: z.string(),
        })
        .optional()
        .meta({ description: 'The refund a pay_order.refunded event is about' }),
    })
    .meta({ description: 'The `data` of the notification body, as sent' }),
});

export const eventListSchema = listSchema(eventSummarySchema);

export const eventViewSchema = eventSummarySchema.extend({
  attempts: z.array(deliveryTrySchema),
});

export const redeliverySchema = z.object({
  id: z
    .string()
    .meta({ description: "The redelivery's try, as it will show in the event's attempts" }),
  eventId: z.string(),
  status: z.literal('QUEUED'),
});
