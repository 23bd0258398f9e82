// Members: who has a role on an object (ListMembers), each role with where it comes from (the object it is stored on,
// inherited from above or inside it, the group it comes through). "Remove…" first shows what the removal takes away —
// RemoveMember's own dry run, judged by the service exactly as the removal would be, so a refused removal (a last
// owner, no authority) is refused before anything is offered — and removes only when confirmed; the reply's list of
// every relationship removed is shown after. Every call is the key's own: a refusal is the service's, shown with its status.
import type { ManagementChanges, Member, MemberRole } from "./gen/authz/v1/management_pb.js";
import { management, refusal } from "./client.js";
import { byId, element, say } from "./dom.js";
import { setUpInvitations, showInvitations } from "./invitations.js";
import { objectRef, subjectRef, subjectText } from "./refs.js";

const objectText = (object: { type: string; id: string } | undefined) => (object === undefined ? "" : `${object.type}:${object.id}`);

function source(role: MemberRole): string {
    const parts = [role.contained ? `inside, on ${objectText(role.grantedOn)}` : role.inherited ? `inherited from ${objectText(role.grantedOn)}` : "on this object"];
    if (role.via !== undefined) {
        parts.push(`via ${subjectText(role.via)}`);
    }
    return parts.join(", ");
}

function relationshipText(r: { resource?: { type: string; id: string }; relation: string; subject?: { object?: { type: string; id: string }; relation: string } }): string {
    return `${objectText(r.resource)}#${r.relation}@${subjectText(r.subject)}`;
}

let shownResource = "";

async function show(): Promise<void> {
    const error = byId("members-error");
    const rows = byId("members-rows");
    say(error, "");
    byId("members-confirm").hidden = true;
    shownResource = byId<HTMLInputElement>("members-object").value.trim();
    try {
        const answer = await management.listMembers({
            resource: objectRef(shownResource),
            includeContained: byId<HTMLInputElement>("members-contained").checked,
        });
        rows.replaceChildren(...answer.members.map(memberRow));
        say(byId("members-status"), `${answer.members.length} member${answer.members.length === 1 ? "" : "s"} of ${shownResource} at revision ${answer.revision}`);
        byId("invitations").hidden = false;
        await showInvitations(shownResource);
    } catch (failure) {
        rows.replaceChildren();
        say(byId("members-status"), "");
        const { status, message } = refusal(failure);
        say(error, `${status}: ${message}`);
    }
}

function memberRow(member: Member): HTMLTableRowElement {
    const subject = subjectText(member.subject);
    const roles = element("ul", { className: "roles" }, ...member.roles.map((role) =>
        element("li", {}, element("strong", { text: role.label }), element("span", { className: "reason", text: ` — ${source(role)}` }))));
    const remove = element("button", { text: "Remove…", className: "remove" });
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove ${subject}`);
    remove.addEventListener("click", () => void prepareRemoval(subject));
    const change = element("button", { text: "Roles…", className: "change-roles" });
    change.type = "button";
    change.setAttribute("aria-label", `Change the roles of ${subject}`);
    // The roles held on this object itself, shown as a reminder; not prefilled, since the base membership is listed
    // among them and is not a role SetRoles accepts (it keeps it).
    const own = member.roles.filter((role) => !role.inherited && !role.contained && role.via === undefined).map((role) => role.role);
    change.addEventListener("click", () => {
        byId("roles-subject").textContent = subject;
        byId("roles-now").textContent = own.join(", ");
        const input = byId<HTMLInputElement>("roles-value");
        input.value = "";
        const panel = byId("roles-panel");
        panel.dataset.subject = subject;
        panel.hidden = false;
        input.focus();
    });
    const row = element("tr", {},
        element("td", {}, element("code", { text: subject })),
        element("td", { text: member.email }),
        element("td", {}, roles),
        element("td", {}, change, remove));
    row.dataset.subject = subject;
    return row;
}

// The cascade report: every relationship RemoveMember would take away, planned by the service without committing.
async function prepareRemoval(subject: string): Promise<void> {
    const error = byId("members-error");
    say(error, "");
    say(byId("members-result"), "");
    try {
        const answer = await management.removeMember({ resource: objectRef(shownResource), subject: subjectRef(subject), dryRun: true });
        const removed = answer.changes?.removed ?? [];
        byId("members-confirm-subject").textContent = subject;
        byId("members-confirm-object").textContent = shownResource;
        byId("members-cascade").replaceChildren(...removed.map((r) => element("li", {}, element("code", { text: relationshipText(r) }))));
        const confirm = byId("members-confirm");
        confirm.dataset.subject = subject;
        confirm.hidden = false;
        byId("members-remove-yes").focus();
    } catch (failure) {
        const { status, message } = refusal(failure);
        say(error, `${status}: ${message}`);
    }
}

async function remove(): Promise<void> {
    const confirm = byId("members-confirm");
    const subject = confirm.dataset.subject ?? "";
    confirm.hidden = true;
    try {
        const answer = await management.removeMember({ resource: objectRef(shownResource), subject: subjectRef(subject) });
        const removed = answer.changes?.removed ?? [];
        await show();
        say(byId("members-result"), `Removed ${subject} from ${shownResource} at revision ${answer.changes?.revision ?? ""}: ${removed.map(relationshipText).join(", ")}`);
    } catch (failure) {
        const { status, message } = refusal(failure);
        say(byId("members-error"), `${status}: ${message}`);
    }
}

type Changes = ManagementChanges | undefined;

function changesText(changes: Changes): string {
    const added = (changes?.added ?? []).map(relationshipText);
    const removed = (changes?.removed ?? []).map(relationshipText);
    return `at revision ${changes?.revision ?? ""}; added: ${added.join(", ") || "nothing"}; removed: ${removed.join(", ") || "nothing"}`;
}

// Runs one management call from the page: its changes, or the service's refusal, are shown; the list is refreshed.
async function act(label: string, call: () => Promise<{ changes?: Changes }>): Promise<void> {
    say(byId("members-error"), "");
    say(byId("members-result"), "");
    try {
        const answer = await call();
        if (shownResource.length > 0) {
            await show();
        }
        say(byId("members-result"), `${label} ${changesText(answer.changes)}`);
    } catch (failure) {
        const { status, message } = refusal(failure);
        say(byId("members-error"), `${status}: ${message}`);
    }
}

export function setUpMembers(): void {
    byId("roles-save").addEventListener("click", () => {
        const panel = byId("roles-panel");
        panel.hidden = true;
        const subject = panel.dataset.subject ?? "";
        const roles = byId<HTMLInputElement>("roles-value").value.split(",").map((r) => r.trim()).filter((r) => r.length > 0);
        void act(`Set the roles of ${subject} on ${shownResource}`, () =>
            management.setRoles({ resource: objectRef(shownResource), subject: subjectRef(subject), roles }));
    });
    byId("roles-cancel").addEventListener("click", () => {
        byId("roles-panel").hidden = true;
    });
    byId<HTMLFormElement>("leave-form").addEventListener("submit", (event) => {
        event.preventDefault();
        const resource = byId<HTMLInputElement>("leave-object").value.trim();
        void act(`Left ${resource}`, () => management.leave({ resource: objectRef(resource) }));
    });
    byId<HTMLFormElement>("transfer-form").addEventListener("submit", (event) => {
        event.preventDefault();
        const resource = byId<HTMLInputElement>("transfer-object").value.trim();
        const role = byId<HTMLInputElement>("transfer-role").value.trim();
        const to = byId<HTMLInputElement>("transfer-to").value.trim();
        void act(`Transferred ${role} of ${resource} to ${to}`, () =>
            management.transferOwnership({ resource: objectRef(resource), role, to: subjectRef(to) }));
    });
    byId<HTMLFormElement>("members-form").addEventListener("submit", (event) => {
        event.preventDefault();
        say(byId("members-result"), "");
        void show();
    });
    byId("members-remove-yes").addEventListener("click", () => void remove());
    setUpInvitations(() => shownResource);
    byId("members-remove-no").addEventListener("click", () => {
        byId("members-confirm").hidden = true;
    });
}
