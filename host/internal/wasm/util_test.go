package wasm

import "os"

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "rewind-wasm-cache-") }
