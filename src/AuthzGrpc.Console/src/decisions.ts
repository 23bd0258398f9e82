// Decisions: Check and Explain for a subject, an action and a resource, optionally as a management check (the role and
// subject a management call would act on). Explain is drawn as a tree; the steps that decided the answer are marked.
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ExplainStep, PartialCaveatInfo } from "./gen/authz/v1/authorization_pb.js";
import { Decision } from "./gen/authz/v1/authorization_pb.js";
import { authorization, refusal } from "./client.js";
import { byId, element, say } from "./dom.js";
import { objectRef, subjectRef, subjectText } from "./refs.js";

// One page of a lookup: the first results, the rest left to a narrower question.
const lookupLimit = 100;

function request() {
    const value = (id: string) => byId<HTMLInputElement>(id).value;
    const role = value("check-target-role").trim();
    const target = value("check-target-subject").trim();
    const caveats = value("check-caveat-context").trim();
    return {
        subject: subjectRef(value("check-subject")),
        action: value("check-action").trim(),
        resource: objectRef(value("check-resource")),
        // Only when asked: a context turns the check into a management check.
        ...(role.length > 0 || target.length > 0 ? { context: { targetRole: role, targetSubject: subjectRef(target) } } : {}),
        ...(caveats.length > 0 ? { caveatContext: caveatContext(caveats) } : {}),
    };
}

// The caveat context as typed: the server says what does not fit the caveats' parameters; text that is not a JSON
// object is refused here, as the server would refuse it.
function caveatContext(text: string): JsonObject {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        throw new ConnectError("caveat_context: not JSON", Code.InvalidArgument);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new ConnectError("caveat_context: must be a JSON object", Code.InvalidArgument);
    }
    return parsed as JsonObject;
}

// Allowed, denied, or conditional (not an allow: a caveat lacks a parameter, named so the user can supply it).
function showDecision(decision: Decision, revision: string, missing: PartialCaveatInfo | undefined): void {
    const output = byId("decision");
    if (decision === Decision.CONDITIONAL) {
        output.className = "decision denied";
        say(output, `CONDITIONAL at revision ${revision}: supply ${missing?.missingRequiredContext.join(", ") ?? "the caveat context"}`);
        return;
    }
    const allowed = decision === Decision.ALLOWED;
    output.className = allowed ? "decision allowed" : "decision denied";
    say(output, `${allowed ? "ALLOWED" : "DENIED"} at revision ${revision}`);
}

// A step is on the deciding path when its parent is and it came out as its parent did: for an allowed union the true
// operand, for a denied intersection the false one, down to the relationship (or its absence) that settled it.
function stepItem(step: ExplainStep, deciding: boolean): HTMLLIElement {
    const label = element("span", { className: "step" },
        element("span", { className: step.result ? "verdict holds" : "verdict fails", text: step.result ? "✓" : "✗" }),
        element("span", { className: "visually-hidden", text: step.result ? "holds: " : "fails: " }),
        element("code", { text: step.step }));
    if (step.reason.length > 0) {
        label.append(element("span", { className: "reason", text: ` — ${step.reason}` }));
    }
    if (deciding) {
        label.append(element("span", { className: "visually-hidden", text: " (deciding step)" }));
    }
    const item = element("li", { className: deciding ? "deciding" : "" });
    if (step.children.length === 0) {
        item.append(label);
        return item;
    }
    const children = element("ul");
    for (const child of step.children) {
        children.append(stepItem(child, deciding && child.result === step.result));
    }
    const details = element("details", {}, element("summary", {}, label), children);
    // The deciding path is open; the rest can be opened with the keyboard (summary is focusable).
    details.open = deciding;
    item.append(details);
    return item;
}

// Streams a lookup into the results list: resources of a type the subject may act on, or subjects of a type that may
// act on the resource (the form's action for both).
async function lookup(resources: boolean): Promise<void> {
    const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
    const list = byId("lookup-results");
    const status = byId("lookup-status");
    const error = byId("decision-error");
    list.replaceChildren();
    say(status, "");
    say(error, "");
    let count = 0;
    let revision = "";
    try {
        const show = (text: string, at: string) => {
            list.append(element("li", {}, element("code", { text })));
            count++;
            revision = at;
        };
        if (resources) {
            const request = { subject: subjectRef(value("check-subject")), action: value("check-action"), resourceType: value("lookup-type"), limit: lookupLimit };
            for await (const answer of authorization.lookupResources(request)) {
                show(`${answer.resource?.type ?? ""}:${answer.resource?.id ?? ""}`, answer.revision);
            }
        } else {
            const request = { resource: objectRef(value("check-resource")), action: value("check-action"), subjectType: value("lookup-type"), limit: lookupLimit };
            for await (const answer of authorization.lookupSubjects(request)) {
                show(subjectText(answer.subject), answer.revision);
            }
        }
        const what = resources ? "resource" : "subject";
        say(status, count === 0
            ? `No ${what} found`
            : `${count} ${what}${count === 1 ? "" : "s"}${count === lookupLimit ? ` (the first ${lookupLimit})` : ""} at revision ${revision}`);
    } catch (failure) {
        const { status: code, message } = refusal(failure);
        say(error, `${code}: ${message}`);
    }
}

export function setUpDecisions(): void {
    const error = byId("decision-error");
    const tree = byId("explain-tree");
    const run = async (explain: boolean) => {
        say(error, "");
        say(byId("decision"), "");
        tree.replaceChildren();
        try {
            if (explain) {
                const answer = await authorization.explain(request());
                showDecision(answer.decision, answer.revision, answer.partialCaveatInfo);
                if (answer.root !== undefined) {
                    tree.append(element("ul", { className: "tree" }, stepItem(answer.root, true)));
                }
            } else {
                const answer = await authorization.check(request());
                showDecision(answer.decision, answer.revision, answer.partialCaveatInfo);
            }
        } catch (failure) {
            const { status, message } = refusal(failure);
            say(error, `${status}: ${message}`);
        }
    };
    byId<HTMLFormElement>("check-form").addEventListener("submit", (event) => {
        event.preventDefault();
        void run(false);
    });
    byId("explain").addEventListener("click", () => void run(true));
    byId("lookup-resources").addEventListener("click", () => void lookup(true));
    byId("lookup-subjects").addEventListener("click", () => void lookup(false));
}
