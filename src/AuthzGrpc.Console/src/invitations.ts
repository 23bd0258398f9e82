// Invitations, on the Members page: invite addresses with roles on the shown object and, optionally, roles on one more
// object (all granted on acceptance, together); the pending invitations of the object with Resend and Revoke; and
// accepting an invitation with its token as the signed-in key (which must carry the invited address). Tokens are
// shown once, to the inviter, as the service returns them; they are never put in a URL.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { InvitationState, RoleChangeMode } from "./gen/authz/v1/management_pb.js";
import type { Invitation, IssuedInvitation } from "./gen/authz/v1/management_pb.js";
import { management, refusal } from "./client.js";
import { byId, element, say } from "./dom.js";
import { objectRef } from "./refs.js";

const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
const list = (text: string) => text.split(",").map((item) => item.trim()).filter((item) => item.length > 0);
const when = (time: Timestamp | undefined) => (time === undefined ? "" : timestampDate(time).toISOString().slice(0, 16).replace("T", " "));

function failed(failure: unknown): void {
    const { status, message } = refusal(failure);
    say(byId("members-error"), `${status}: ${message}`);
}

function issued(invitations: IssuedInvitation[]): void {
    byId("invite-issued").replaceChildren(...invitations.map((invitation) => element("li", {},
        element("span", { text: `${invitation.email}: token ` }),
        element("code", { className: "token", text: invitation.token }),
        element("span", { className: "reason", text: ` (expires ${when(invitation.expiresAt)} UTC)` }))));
}

/** Lists the pending invitations of `resource` (the Members page's object). */
export async function showInvitations(resource: string): Promise<void> {
    const rows = byId("invitations-rows");
    try {
        const answer = await management.listInvitations({ resource: objectRef(resource) });
        rows.replaceChildren(...answer.invitations.filter((i) => i.state === InvitationState.PENDING).map(invitationRow));
    } catch (failure) {
        rows.replaceChildren();
        failed(failure);
    }
}

function invitationRow(invitation: Invitation): HTMLTableRowElement {
    const roles = [
        ...invitation.roles.map((role) => `${role} here`),
        ...invitation.grants.map((grant) => `${grant.roles.join(", ")} on ${grant.resource?.type ?? ""}:${grant.resource?.id ?? ""}`),
    ].join("; ");
    const resend = element("button", { text: "Resend" });
    resend.type = "button";
    resend.setAttribute("aria-label", `Resend the invitation of ${invitation.email}`);
    resend.addEventListener("click", async () => {
        try {
            const answer = await management.resendInvitation({ id: invitation.id });
            issued(answer.invitation === undefined ? [] : [answer.invitation]);
            say(byId("members-result"), `Resent the invitation of ${invitation.email} at revision ${answer.revision}`);
        } catch (failure) {
            failed(failure);
        }
    });
    const revoke = element("button", { text: "Revoke" });
    revoke.type = "button";
    revoke.setAttribute("aria-label", `Revoke the invitation of ${invitation.email}`);
    revoke.addEventListener("click", async () => {
        try {
            const answer = await management.revokeInvitation({ id: invitation.id });
            say(byId("members-result"), `Revoked the invitation of ${invitation.email} at revision ${answer.revision}`);
            await showInvitations(`${invitation.resource?.type ?? ""}:${invitation.resource?.id ?? ""}`);
        } catch (failure) {
            failed(failure);
        }
    });
    const row = element("tr", {},
        element("td", { text: invitation.email }),
        element("td", { text: roles }),
        element("td", { text: invitation.invitedBy }),
        element("td", { text: `${when(invitation.expiresAt)} UTC` }),
        element("td", {}, resend, revoke));
    row.dataset.email = invitation.email;
    return row;
}

export function setUpInvitations(currentResource: () => string): void {
    byId<HTMLFormElement>("invite-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        say(byId("members-error"), "");
        const resource = currentResource();
        const other = value("invite-other-object");
        try {
            const answer = await management.inviteMembers({
                resource: objectRef(resource),
                emails: list(value("invite-emails")),
                roles: list(value("invite-roles")),
                grants: other.length === 0 ? [] : [{ resource: objectRef(other), mode: RoleChangeMode.GRANT, roles: list(value("invite-other-roles")) }],
            });
            // The pending list first, so the tokens and the message appear with the list already up to date.
            await showInvitations(resource);
            issued(answer.invitations);
            say(byId("members-result"), `Invited ${answer.invitations.map((i) => i.email).join(", ")} at revision ${answer.revision}: send each their token`);
        } catch (failure) {
            failed(failure);
        }
    });
    byId<HTMLFormElement>("accept-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        say(byId("members-error"), "");
        const token = byId<HTMLInputElement>("accept-token");
        try {
            const answer = await management.acceptInvitation({ token: token.value.trim() });
            token.value = "";
            say(byId("members-result"), `Accepted at revision ${answer.changes?.revision ?? ""}: ${(answer.changes?.added ?? [])
                .map((r) => `${r.resource?.type ?? ""}:${r.resource?.id ?? ""}#${r.relation}`).join(", ")}`);
        } catch (failure) {
            failed(failure);
        }
    });
}
