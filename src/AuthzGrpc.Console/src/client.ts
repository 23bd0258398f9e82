// The one way the console talks to the server: gRPC-Web to the same gRPC services every client calls, with the signed-in
// key sent as the `authorization: Bearer <key>` metadata gRPC clients send. The key lives in sessionStorage: this tab
// only, gone when it closes, never in a URL, never logged.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthorizationService } from "./gen/authz/v1/authorization_pb.js";
import { ManagementService } from "./gen/authz/v1/management_pb.js";
import { RelationshipService } from "./gen/authz/v1/relationship_pb.js";
import { SchemaService } from "./gen/authz/v1/schema_pb.js";

const keyItem = "authz-console-key";

export function storedKey(): string | null {
    return sessionStorage.getItem(keyItem);
}

export function storeKey(key: string): void {
    sessionStorage.setItem(keyItem, key);
}

export function forgetKey(): void {
    sessionStorage.removeItem(keyItem);
}

// Reads the key at each call, so signing out or in takes effect at once.
const sendKey: Interceptor = (next) => async (request) => {
    const key = storedKey();
    if (key !== null) {
        request.header.set("authorization", `Bearer ${key}`);
    }
    return next(request);
};

// Same origin: the console's listener translates gRPC-Web for the server's own gRPC services.
const transport = createGrpcWebTransport({
    baseUrl: window.location.origin,
    useBinaryFormat: true,
    interceptors: [sendKey],
});

export const authorization: Client<typeof AuthorizationService> = createClient(AuthorizationService, transport);
export const schemas: Client<typeof SchemaService> = createClient(SchemaService, transport);
export const relationships: Client<typeof RelationshipService> = createClient(RelationshipService, transport);
export const management: Client<typeof ManagementService> = createClient(ManagementService, transport);

/** A failed call as the service answered it: the gRPC status name and the service's own message. */
export interface Refusal {
    status: string;
    message: string;
}

/** The status (`PERMISSION_DENIED`) and message of what a call threw; anything else is the browser's failure. */
export function refusal(error: unknown): Refusal {
    const failure = ConnectError.from(error);
    const name = Code[failure.code] ?? "UNKNOWN";
    return {
        status: name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
        message: failure.rawMessage,
    };
}
