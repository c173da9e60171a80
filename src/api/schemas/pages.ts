// How the document describes answers that are HTML pages (the cashier's, the ops console's) or a
// redirect to one (See Other, with the page in Location).
import { z } from 'zod';

export const htmlPage = (description: string) => ({
  description,
  content: { 'text/html': { schema: z.string() } },
});

/** A 303 to the page its Location header names; it has no body. */
export const redirect = (description: string) => z.null().meta({ description });
