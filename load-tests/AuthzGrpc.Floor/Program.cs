using AuthzGrpc.Floor;

// Listens where Kestrel:Endpoints:Grpc:Url says (default http://127.0.0.1:50051), e.g.
// dotnet AuthzGrpc.Floor.dll --Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:5099
await FloorServer.Build(args).RunAsync();
