/** Every library the in-thread benchmark measures, weft and the floor first. */
import { asyncChannel } from './async-channel.js';
import { effect } from './effect.js';
import { floor } from './floor.js';
import { itPushable } from './it-pushable.js';
import { jsCsp } from './js-csp.js';
import { queueable } from './queueable.js';
import { thingCsp } from './thing-csp.js';
import { tsChan } from './ts-chan.js';
import type { Peer } from './types.js';
import { weft } from './weft.js';

export const PEERS: readonly Peer<unknown>[] = [weft, floor, thingCsp, tsChan, effect, queueable, itPushable, asyncChannel, jsCsp];
