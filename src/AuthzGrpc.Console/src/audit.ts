// Audit: ListAuditEvents with its filters (object, actor, time), newest first, with older pages on demand; "Follow"
// asks again every two seconds and adds what is new at the top. Following polls ListAuditEvents rather than opening
// WatchEvents: the same call, authorized the same way (the type's `audit by` rule), for every key kind that may read
// the log, where WatchEvents is for admin keys only and unfiltered.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { AuditEvent } from "./gen/authz/v1/management_pb.js";
import { management, refusal } from "./client.js";
import { byId, element, say } from "./dom.js";
import { objectRef } from "./refs.js";

const followMilliseconds = 2000;
// Pages read when catching up while following, at most: a burst larger than this shows after a new search.
const followPages = 5;

const value = (id: string) => byId<HTMLInputElement>(id).value.trim();

function filters() {
    const resource = value("audit-object");
    const since = value("audit-since");
    const until = value("audit-until");
    return {
        ...(resource.length > 0 ? { resource: objectRef(resource) } : {}),
        actor: value("audit-actor"),
        ...(since.length > 0 ? { since: timestampFromDate(new Date(since)) } : {}),
        ...(until.length > 0 ? { until: timestampFromDate(new Date(until)) } : {}),
    };
}

function row(event: AuditEvent): HTMLTableRowElement {
    const change = element("td");
    for (const [label, json] of [["before", event.before], ["after", event.after]] as const) {
        if (json.length > 0) {
            change.append(element("details", {}, element("summary", { text: label }), element("pre", { text: json })));
        }
    }
    const time = event.time === undefined ? "" : timestampDate(event.time).toISOString().replace(".000Z", "Z");
    const tr = element("tr", {},
        element("td", { text: String(event.id) }),
        element("td", { text: time }),
        element("td", { text: event.actor }),
        element("td", { text: event.operation }),
        element("td", { text: event.target }),
        element("td", { text: event.revision }),
        change);
    tr.dataset.id = String(event.id);
    return tr;
}

let nextPage = "";
let newest = 0n;
let timer: number | undefined;
// A new search makes older answers (a page, a follow round) stale: they are dropped.
let generation = 0;

async function search(): Promise<void> {
    const mine = ++generation;
    const body = byId("audit-rows");
    const error = byId("audit-error");
    say(error, "");
    try {
        const page = await management.listAuditEvents({ ...filters(), pageSize: 50 });
        if (mine !== generation) {
            return;
        }
        body.replaceChildren(...page.events.map(row));
        nextPage = page.nextPageToken;
        newest = page.events.length > 0 ? page.events[0].id : 0n;
        byId("audit-older").hidden = nextPage.length === 0;
        say(byId("audit-status"), page.events.length === 0 ? "No events match." : `${page.events.length} event${page.events.length === 1 ? "" : "s"}, newest first`);
    } catch (failure) {
        if (mine !== generation) {
            return;
        }
        body.replaceChildren();
        byId("audit-older").hidden = true;
        say(byId("audit-status"), "");
        const { status, message } = refusal(failure);
        say(error, `${status}: ${message}`);
    }
}

async function older(): Promise<void> {
    const mine = generation;
    try {
        const page = await management.listAuditEvents({ ...filters(), pageSize: 50, pageToken: nextPage });
        if (mine !== generation) {
            return;
        }
        byId("audit-rows").append(...page.events.map(row));
        nextPage = page.nextPageToken;
        byId("audit-older").hidden = nextPage.length === 0;
    } catch (failure) {
        const { status, message } = refusal(failure);
        say(byId("audit-error"), `${status}: ${message}`);
    }
}

// One follow round: the pages newer than the newest shown, added at the top in order.
async function follow(): Promise<void> {
    const mine = generation;
    const fresh: AuditEvent[] = [];
    let token = "";
    try {
        for (let i = 0; i < followPages; i++) {
            const page = await management.listAuditEvents({ ...filters(), pageSize: 100, pageToken: token });
            const newer = page.events.filter((event) => event.id > newest);
            fresh.push(...newer);
            if (newer.length < page.events.length || page.nextPageToken.length === 0) {
                break;
            }
            token = page.nextPageToken;
        }
    } catch (failure) {
        const { status, message } = refusal(failure);
        say(byId("audit-error"), `${status}: ${message}`);
        return;
    }
    if (mine !== generation || fresh.length === 0) {
        return;
    }
    newest = fresh[0].id;
    byId("audit-rows").prepend(...fresh.map(row));
    say(byId("audit-status"), `${fresh.length} new event${fresh.length === 1 ? "" : "s"} at ${new Date().toISOString().slice(11, 19)} UTC`);
}

function schedule(): void {
    window.clearTimeout(timer);
    if (byId<HTMLInputElement>("audit-follow").checked && !byId("page-audit").hidden) {
        timer = window.setTimeout(async () => {
            await follow();
            schedule();
        }, followMilliseconds);
    }
}

export function setUpAudit(): void {
    byId<HTMLFormElement>("audit-form").addEventListener("submit", (event) => {
        event.preventDefault();
        void search().then(schedule);
    });
    byId("audit-older").addEventListener("click", () => void older());
    byId("audit-follow").addEventListener("change", schedule);
}

/** Called when the page is shown or hidden: following runs only while it is shown. */
export function auditShown(): void {
    schedule();
}
