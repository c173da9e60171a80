// What a workflow is to the code that starts it or waits for it: the type name it runs under, its
// input and its result. Each contract module adds the workflow's ID rule and its messages; the
// workflow functions are checked against their contracts where the bundle exports them
// (src/workflows/index.ts). Contracts are bundled into the workflows: no I/O, no Node modules.

export interface WorkflowContract<Type extends string, Input, Result> {
  /** The name the worker registers the workflow function under (its export name). */
  readonly type: Type;
  /** Never set: carries the workflow's signature to whoever starts it. */
  readonly signature?: (input: Input) => Promise<Result>;
}

/** Any workflow's contract. */
export type AnyWorkflowContract = WorkflowContract<string, never, unknown>;

export type InputOf<C extends AnyWorkflowContract> =
  C extends WorkflowContract<string, infer Input, unknown> ? Input : never;

export type ResultOf<C extends AnyWorkflowContract> =
  C extends WorkflowContract<string, never, infer Result> ? Result : never;

/** The workflow function a contract describes. */
export type WorkflowOf<C extends AnyWorkflowContract> = (input: InputOf<C>) => Promise<ResultOf<C>>;

/** Workflow functions keyed by their contracts' type names, as the bundle must export them. */
export type WorkflowImplementations<C extends AnyWorkflowContract> = {
  [K in C as K['type']]: WorkflowOf<K>;
};

/** `workflowContract<Input, Result>()('name')`: the type name stays a literal type. */
export function workflowContract<Input, Result>() {
  return <Type extends string>(type: Type): WorkflowContract<Type, Input, Result> => ({ type });
}
