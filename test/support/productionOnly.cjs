// Preloaded (`node --require`) into a process of the production build: a package it tries to load
// that the image would not have fails loudly. The image installs with `npm ci --omit=dev`, which
// leaves out what package-lock.json marks `dev` (needed by development dependencies alone): a
// development dependency that a production package needs too (`yaml`, say) is installed there.
const Module = require('node:module');
const path = require('node:path');
const { packages } = require(path.resolve(__dirname, '../../package-lock.json'));

const topLevel = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/;
const forbidden = Object.entries(packages)
  .filter(([where, entry]) => entry.dev === true && topLevel.test(where))
  .map(([where]) => topLevel.exec(where)[1]);
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const name = forbidden.find((dev) => request === dev || request.startsWith(`${dev}/`));
  if (name) throw new Error(`production build loads the development dependency ${name}`);
  return resolve.call(this, request, ...rest);
};
