// What the stray-payment workflow asks the books: is a success for a completed pay order already
// accounted for, or extra money to refund.
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../db/client';
import { strayPaymentBooks } from '../db/books/payOrders';
import { classifyStrayPayment } from '../domain/strayPayment';

export function createStrayPaymentActivities({ db }: { db: Db }) {
  return {
    /** Decides what a success for a completed pay order workflow is: already in the books, or extra money. */
    async classifyStrayPayment(ref: { payOrderId: string; attemptId: string }) {
      const books = await strayPaymentBooks(db, ref);
      if (!books) {
        throw ApplicationFailure.nonRetryable(`no attempt ${ref.attemptId}`, 'NOT_FOUND');
      }
      return classifyStrayPayment(books);
    },
  };
}

export type StrayPaymentActivities = ReturnType<typeof createStrayPaymentActivities>;
