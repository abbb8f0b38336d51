// The V8 options every `lab` command's node runs with, before its script. Decoding and
// assembling captures allocate millions of short-lived objects (bigint times): a young generation
// of 32 MiB semi-spaces collects them in ~15% less time than the default 16 MiB (64 MiB buys no
// more and costs ~70 MiB of peak memory on a 100k-request capture). Without allocation-site
// pretenuring, V8 no longer on some runs (about one in ten) starts allocating spans straight in
// the old generation, where assembly then took ~60% longer and ~130 MiB more memory.
export const CLI_NODE_OPTIONS = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring'];
