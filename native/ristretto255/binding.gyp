{
  "targets": [
    {
      "target_name": "accord_ristretto255",
      "sources": ["ristretto255.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lsodium"]
    }
  ]
}
