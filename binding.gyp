{
  "targets": [
    {
      "target_name": "nvmet_fd",
      "sources": ["native/fd.c"],
      "defines": ["NAPI_VERSION=8"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"]
        }
      }
    }
  ]
}
