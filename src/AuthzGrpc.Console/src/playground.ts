// Playground: a model's schema, relationships and assertions side by side (the parts of a validation file), validated
// on the server as you type by SchemaService.ValidateModel, which stores nothing; each problem is listed with its part,
// line and column, and choosing it puts the cursor there. Starting points: the repository's models (models.json, built
// with the bundle) or the schema in force. "Save file" downloads the three parts as one validation file.
import { Operation } from "./gen/authz/v1/core_pb.js";
import { ModelPart } from "./gen/authz/v1/schema_pb.js";
import { refusal, relationships, schemas } from "./client.js";
import { byId, element, say } from "./dom.js";
import { relationshipRef } from "./refs.js";

interface Model {
    name: string;
    schema: string;
    relationships: string;
    assertions: string;
}

const parts: Record<number, { name: string; editor: string }> = {
    [ModelPart.SCHEMA]: { name: "schema", editor: "pg-schema" },
    [ModelPart.RELATIONSHIPS]: { name: "relationships", editor: "pg-relationships" },
    [ModelPart.ASSERTIONS]: { name: "assertions", editor: "pg-assertions" },
};

const editor = (id: string) => byId<HTMLTextAreaElement>(id);

// Puts the cursor at a 1-based line and column of a text area.
function reveal(area: HTMLTextAreaElement, line: number, column: number): void {
    const lines = area.value.split("\n");
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) {
        offset += lines[i].length + 1;
    }
    offset += Math.max(0, column - 1);
    area.focus();
    area.setSelectionRange(offset, offset);
}

// A relationship line the page cannot send (the server would be asked nothing).
class LineError extends Error {}

// The server's limit on one WriteRelationships (Authz:MaxWriteBatch's default): larger models are written in batches.
const writeBatch = 1000;

function relationshipLines(): string[] {
    return editor("pg-relationships").value.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("//"));
}

// Applies the model when asked: WriteSchema (forced only when the box is ticked), then TOUCH of every relationship.
// Relationships stored before and not in the model stay. Each call is the key's own, refused as any client's would be.
async function apply(): Promise<void> {
    const result = byId("pg-apply-result");
    const error = byId("pg-error");
    say(result, "");
    say(error, "");
    validationFailed = false;
    try {
        const written = await schemas.writeSchema({ schema: editor("pg-schema").value, force: byId<HTMLInputElement>("pg-force").checked });
        let revision = written.revision;
        const lines = relationshipLines();
        for (let start = 0; start < lines.length; start += writeBatch) {
            const updates = lines.slice(start, start + writeBatch).map((line) => {
                const relationship = relationshipRef(line);
                if (relationship === null) {
                    throw new LineError(`relationships: '${line}' is not resource#relation@subject`);
                }
                return { operation: Operation.TOUCH, relationship };
            });
            revision = (await relationships.writeRelationships({ updates })).revision;
        }
        say(result, `Applied: the schema and ${lines.length} relationships, at revision ${revision}`);
    } catch (failure) {
        if (failure instanceof LineError) {
            say(error, failure.message);
            return;
        }
        const { status, message } = refusal(failure);
        say(error, `${status}: ${message}`);
    } finally {
        byId("pg-apply-confirm").hidden = true;
    }
}

// Validation answers may arrive out of order: only the latest request's answer is shown.
let latest = 0;

// Whether pg-error shows a validation's failure: a later validation clears only that, never an Apply's answer (an
// answer to an edit made just before Apply may arrive after it).
let validationFailed = false;

async function validate(): Promise<void> {
    const mine = ++latest;
    const status = byId("pg-status");
    const error = byId("pg-error");
    const list = byId("pg-problems");
    try {
        const answer = await schemas.validateModel({
            schema: editor("pg-schema").value,
            relationships: editor("pg-relationships").value,
            assertions: editor("pg-assertions").value,
        });
        if (mine !== latest) {
            return;
        }
        if (validationFailed) {
            say(error, "");
            validationFailed = false;
        }
        // Problems, then the schema's warnings (what loads but can never grant, and the like), each a button to its place.
        const schemaPart = parts[ModelPart.SCHEMA];
        list.replaceChildren(
            ...answer.problems.map((problem) => {
                const part = parts[problem.part] ?? schemaPart;
                const go = element("button", { className: "problem", text: `${part.name} ${problem.line}:${problem.column} ${problem.message}` });
                go.type = "button";
                go.addEventListener("click", () => reveal(editor(part.editor), problem.line, problem.column));
                return element("li", {}, go);
            }),
            ...answer.warnings.map((warning) => {
                const go = element("button", { className: "warning", text: `${schemaPart.name} ${warning.line}:${warning.column} warning: ${warning.message}` });
                go.type = "button";
                go.addEventListener("click", () => reveal(editor(schemaPart.editor), warning.line, warning.column));
                return element("li", {}, go);
            }));
        const warned = answer.warnings.length === 0 ? "" : `; ${answer.warnings.length} warning${answer.warnings.length === 1 ? "" : "s"}`;
        say(status, answer.problems.length === 0
            ? `Valid: ${answer.relationshipCount} relationships, ${answer.assertionCount} assertions hold${warned}`
            : `${answer.problems.length} problem${answer.problems.length === 1 ? "" : "s"} (${answer.relationshipCount} relationships, ${answer.assertionCount} assertions read)${warned}`);
    } catch (failure) {
        if (mine !== latest) {
            return;
        }
        list.replaceChildren();
        say(status, "");
        const { status: code, message } = refusal(failure);
        say(error, `${code}: ${message}`);
        validationFailed = true;
    }
}

function load(model: Model): void {
    editor("pg-schema").value = model.schema;
    editor("pg-relationships").value = model.relationships;
    editor("pg-assertions").value = model.assertions;
    void validate();
}

// The three parts as a validation file; block scalars with an explicit indentation, so any first line is kept as is.
function validationFile(): string {
    const block = (text: string) => text.replace(/\n+$/, "").split("\n").map((line) => (line.length > 0 ? `  ${line}` : "")).join("\n");
    return `schema: |2-\n${block(editor("pg-schema").value)}\nrelationships: |2-\n${block(editor("pg-relationships").value)}\nassertions:\n${block(editor("pg-assertions").value)}\n`;
}

export function setUpPlayground(): void {
    let timer: number | undefined;
    for (const id of ["pg-schema", "pg-relationships", "pg-assertions"]) {
        editor(id).addEventListener("input", () => {
            window.clearTimeout(timer);
            timer = window.setTimeout(() => void validate(), 300);
        });
    }

    const select = byId<HTMLSelectElement>("pg-model");
    let models: Model[] = [];
    void fetch("models.json").then(async (response) => {
        models = (await response.json()) as Model[];
        select.append(...models.map((model, index) => {
            const option = element("option", { text: model.name });
            option.value = String(index);
            return option;
        }));
    });
    byId("pg-load").addEventListener("click", () => {
        const model = models[Number(select.value)];
        if (select.value !== "" && model !== undefined) {
            load(model);
        }
    });
    byId("pg-load-server").addEventListener("click", async () => {
        try {
            const current = await schemas.readSchema({});
            load({ name: "server", schema: current.schema, relationships: "", assertions: "" });
        } catch (failure) {
            const { status, message } = refusal(failure);
            say(byId("pg-error"), `${status}: ${message}`);
        }
    });
    byId("pg-apply").addEventListener("click", () => {
        byId("pg-apply-count").textContent = String(relationshipLines().length);
        byId("pg-apply-confirm").hidden = false;
        byId("pg-apply-yes").focus();
    });
    byId("pg-apply-yes").addEventListener("click", () => void apply());
    byId("pg-apply-no").addEventListener("click", () => {
        byId("pg-apply-confirm").hidden = true;
        byId("pg-apply").focus();
    });
    byId("pg-save").addEventListener("click", () => {
        const link = element("a");
        link.href = URL.createObjectURL(new Blob([validationFile()], { type: "application/yaml" }));
        link.download = "model.yaml";
        link.click();
        URL.revokeObjectURL(link.href);
    });
}
