#ifndef CALLSIGN_FUZZ_DRIVER_H
#define CALLSIGN_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for a program with a main of its own
/// (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library):
/// SwiftPM names an executable's entry point itself, so the harnesses call
/// libFuzzer from their main instead of linking libFuzzer's main.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
