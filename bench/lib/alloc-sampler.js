'use strict';
// Preloaded into a bench server by bench/alloc-profile.js (NODE_OPTIONS=--require): V8's sampling
// heap profiler, counting every allocation (also objects a scavenge or mark-compact already
// freed), started on SIGWINCH and written to $ALLOC_PROFILE on SIGUSR2. No effect without
// ALLOC_PROFILE.

const out = process.env.ALLOC_PROFILE;
if (out) {
  const fs = require('node:fs');
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const interval = Number(process.env.ALLOC_SAMPLING_INTERVAL || 512);
  process.on('SIGWINCH', () => {
    session.post('HeapProfiler.startSampling', {
      samplingInterval: interval,
      includeObjectsCollectedByMajorGC: true,
      // ALLOC_PROMOTED=1: only objects that outlived the young generation (promoted to old space,
      // where they stay until a mark-compact): what makes old space grow.
      includeObjectsCollectedByMinorGC: process.env.ALLOC_PROMOTED !== '1',
    });
  });
  process.on('SIGUSR2', () => {
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error) process.stderr.write(`alloc-sampler: ${error.message}\n`);
      else fs.writeFileSync(out, JSON.stringify(result.profile));
      process.stdout.write('alloc-sampler: written\n');
    });
  });
}
