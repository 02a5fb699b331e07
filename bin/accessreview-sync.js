#!/usr/bin/env node
'use strict';
// The compiled CLI; `npm run build` produces it.
require('../dist/src/cli.js').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
