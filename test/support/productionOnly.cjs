// Preloaded (`node --require`) into a process of the production build: a development dependency
// it tries to load fails loudly, as it would in the image (`npm ci --omit=dev`).
const Module = require('node:module');
const path = require('node:path');
const { devDependencies } = require(path.resolve(__dirname, '../../package.json'));

const forbidden = Object.keys(devDependencies);
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const name = forbidden.find((dev) => request === dev || request.startsWith(`${dev}/`));
  if (name) throw new Error(`production build loads the development dependency ${name}`);
  return resolve.call(this, request, ...rest);
};
