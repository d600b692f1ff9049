// ESM entry of `nexotp/testing`: the same objects as the CommonJS entry.
import cjs from './testing.js';

export const { Sandbox } = cjs;

export default cjs;
