// The text forms of the API (`type:id`, `type:id#relation`) read into messages. A form that does not parse is still
// sent as well as it can be: the server's INVALID_ARGUMENT, with its own message, is what the user then sees.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ObjectRefSchema, RelationshipSchema, SubjectRefSchema } from "./gen/authz/v1/core_pb.js";

export function objectRef(text: string): MessageInitShape<typeof ObjectRefSchema> {
    const trimmed = text.trim();
    const colon = trimmed.indexOf(":");
    return colon < 0 ? { type: trimmed, id: "" } : { type: trimmed.slice(0, colon), id: trimmed.slice(colon + 1) };
}

export function subjectRef(text: string): MessageInitShape<typeof SubjectRefSchema> {
    const trimmed = text.trim();
    const hash = trimmed.indexOf("#");
    return hash < 0
        ? { object: objectRef(trimmed), relation: "" }
        : { object: objectRef(trimmed.slice(0, hash)), relation: trimmed.slice(hash + 1) };
}

export function subjectText(subject: { object?: { type: string; id: string }; relation: string } | undefined): string {
    if (subject?.object === undefined) {
        return "";
    }
    const object = `${subject.object.type}:${subject.object.id}`;
    return subject.relation.length > 0 ? `${object}#${subject.relation}` : object;
}

/** `resource#relation@subject` read into a relationship; null when it has no `#` or `@` (the server then says why). */
export function relationshipRef(text: string): MessageInitShape<typeof RelationshipSchema> | null {
    const trimmed = text.trim();
    const at = trimmed.indexOf("@");
    const hash = trimmed.lastIndexOf("#", at);
    if (at < 0 || hash < 0) {
        return null;
    }
    return { resource: objectRef(trimmed.slice(0, hash)), relation: trimmed.slice(hash + 1, at), subject: subjectRef(trimmed.slice(at + 1)) };
}
