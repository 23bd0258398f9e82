// The console's entry point: one page, a section per task, chosen by the URL's fragment (#decisions); nothing secret
// is ever in the URL.
import { auditShown, setUpAudit } from "./audit.js";
import { setUpDecisions } from "./decisions.js";
import { setUpMembers } from "./members.js";
import { byId } from "./dom.js";
import { setUpPlayground } from "./playground.js";
import { setUpSignIn, signedIn } from "./signin.js";

const pages = ["decisions", "playground", "members", "audit"];

function show(): void {
    const wanted = window.location.hash.replace(/^#/, "");
    const page = signedIn() ? (pages.includes(wanted) ? wanted : pages[0]) : "sign-in";
    for (const section of document.querySelectorAll<HTMLElement>("main > section")) {
        section.hidden = section.id !== `page-${page}`;
    }
    for (const link of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
        if (link.hash === `#${page}`) {
            link.setAttribute("aria-current", "page");
        } else {
            link.removeAttribute("aria-current");
        }
    }
    byId("page-title").textContent = page === "sign-in" ? "Sign in" : page[0].toUpperCase() + page.slice(1);
    auditShown();
}

window.addEventListener("hashchange", show);
setUpSignIn(show, show);
setUpDecisions();
setUpPlayground();
setUpMembers();
setUpAudit();
show();
