// Package pluginpb is the gRPC contract between the Rewind host and its
// process plugins: the messages and services of plugin.proto (generated code,
// committed so that building needs no protoc) and the go-plugin handshake
// both sides must agree on.
//
// The package is named pluginpb, not proto, so that it does not shadow
// google.golang.org/protobuf/proto where both are imported.
package pluginpb

// The generated Go code and the Python messages of sdk/python. Needs protoc
// (Debian protobuf-compiler) and protoc-gen-go, protoc-gen-go-grpc on PATH.
//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative --python_out=../python/rewind_plugin plugin.proto
