{
  "target_defaults": {
    "sources": ["src/reqtrace_usdt.c"],
    "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
  },
  "targets": [
    {
      "target_name": "reqtrace_usdt",
      "defines": ["NAPI_VERSION=8", "REQTRACE_NOP5"]
    },
    {
      "target_name": "reqtrace_usdt_nop1",
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
