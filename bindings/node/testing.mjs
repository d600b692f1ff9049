// ESM entry of `nexotp/testing`: the same objects as the CommonJS entry.
import cjs from './testing.js';

export const { Sandbox, Replay, Recording, replay, record } = cjs;

export default cjs;
