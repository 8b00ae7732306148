import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WeftError,
  SendError,
  SendAbortedError,
  TrySendError,
  SendTimeoutError,
  RecvError,
  TryRecvError,
  RecvTimeoutError,
  SelectTimeoutError,
  ClosedHandleError,
  InvalidValueError,
} from '../../src/index.js';

test('every error extends WeftError and names itself', () => {
  const errors: WeftError[] = [
    new SendError(1),
    new SendAbortedError(1, 'why'),
    new TrySendError('full', 1),
    TrySendError.full(1),
    new SendTimeoutError('timeout', 1),
    new RecvError(),
    new TryRecvError('disconnected'),
    TryRecvError.EMPTY,
    new RecvTimeoutError('timeout'),
    new SelectTimeoutError(),
    new ClosedHandleError('send', 1),
    new InvalidValueError('functions cannot cross threads; send plain data', 1),
  ];
  for (const e of errors) {
    assert.ok(e instanceof WeftError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, e.constructor.name);
    assert.ok(e.message.length > 20, `${e.name} says what happened and what to do`);
  }
});

test('send errors carry the value; kinds are exposed', () => {
  const v = { big: 'payload' };
  assert.equal(new SendError(v).value, v);
  assert.equal(new TrySendError('disconnected', v).value, v);
  assert.equal(new SendTimeoutError('disconnected', v).kind, 'disconnected');
  assert.equal(new SendAbortedError(v, 'r').cause, 'r');
  assert.equal(TryRecvError.EMPTY.kind, 'empty');
  assert.ok(Object.isFrozen(TryRecvError.EMPTY));
});

test('polling outcomes carry no stack trace; real failures do', () => {
  assert.doesNotMatch(TrySendError.full(1).stack ?? '', /\n\s+at /);
  assert.match(new SendError(1).stack ?? '', /\n\s+at /);
});
