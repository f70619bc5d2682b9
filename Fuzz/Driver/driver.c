// The declarations are in include/FuzzDriver.h; libFuzzer (-sanitize=fuzzer) defines them.
#include "FuzzDriver.h"
