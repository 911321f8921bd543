// Worker thread entry: installs the TypeScript require hook, then runs the worker.
'use strict';
require('../../runtime/register.js');
require('./worker.ts');
