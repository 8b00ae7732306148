// Minimal typings for js-csp 1.0.1 (it ships none): what the benchmark uses.
declare module 'js-csp' {
  /** A channel; `chan(n)` makes one with a fixed buffer of n (0 = unbuffered). */
  export interface Chan {
    close(): void;
  }
  /** What a go-block yields; the process resumes it with the operation's result. */
  export interface Instruction {
    readonly __instruction: true;
  }
  /** The result of `alts`: the value (a take's value, or a put's success) and the channel that fired. */
  export interface AltResult {
    readonly value: unknown;
    readonly channel: Chan;
  }
  interface Csp {
    /** The value a take returns on a closed channel. */
    readonly CLOSED: null;
    chan(bufferSize?: number): Chan;
    go(f: () => Generator<Instruction, unknown, unknown>): Chan;
    put(ch: Chan, value: unknown): Instruction;
    take(ch: Chan): Instruction;
    alts(operations: ReadonlyArray<Chan | readonly [Chan, unknown]>): Instruction;
  }
  const csp: Csp;
  export default csp;
}
