/** The pull-request comment: one per stack, updated in place on every push (found by its marker), else created. */
import { expect } from "chai";
import { Fetch, postOrUpdate } from "../comment";

interface Call {
    url: string;
    method: string;
    body?: unknown;
}

function fakeGitHub(pages: { id: number; body: string }[][]): { fetcher: Fetch; calls: Call[] } {
    const calls: Call[] = [];
    const fetcher: Fetch = async (url, init) => {
        calls.push({ url, method: init?.method ?? "GET", body: init?.body ? JSON.parse(init.body) : undefined });
        const page = /[?&]page=(\d+)/.exec(url);
        const data = page ? (pages[Number(page[1]) - 1] ?? []) : {};
        return { ok: true, status: 200, json: async () => data };
    };
    return { fetcher, calls };
}

const body = (stack: string, total: string) => `<!-- dify-aws-cost:${stack} -->\n### Estimated monthly cost: ${stack}\n\n**${total}/month**`;

describe("cost comment on the pull request", () => {
    it("creates the stack's comment when there is none", async () => {
        const gh = fakeGitHub([[{ id: 1, body: "LGTM" }, { id: 2, body: body("prd", "$1.00") }]]);
        expect(await postOrUpdate(gh.fetcher, "https://api.github.com", "t", "acme/dify-aws", 7, body("dev", "$2.00"))).to.equal("created");
        const post = gh.calls.find((c) => c.method === "POST")!;
        expect(post.url).to.equal("https://api.github.com/repos/acme/dify-aws/issues/7/comments");
        expect(post.body).to.deep.equal({ body: body("dev", "$2.00") });
    });

    it("updates the stack's own comment (and not the other stack's), looking through every page", async () => {
        const filler = Array.from({ length: 100 }, (_, i) => ({ id: 100 + i, body: "noise" }));
        const gh = fakeGitHub([filler, [{ id: 5, body: body("prd", "$9.00") }, { id: 6, body: body("dev", "$1.00") }]]);
        expect(await postOrUpdate(gh.fetcher, "https://api.github.com", "t", "acme/dify-aws", 7, body("dev", "$3.00"))).to.equal("updated");
        const patch = gh.calls.find((c) => c.method === "PATCH")!;
        expect(patch.url).to.equal("https://api.github.com/repos/acme/dify-aws/issues/comments/6");
        expect(gh.calls.filter((c) => c.method === "POST")).to.deep.equal([]);
    });

    it("refuses a body without the marker (it could never be found again)", async () => {
        const gh = fakeGitHub([[]]);
        let error: Error | undefined;
        await postOrUpdate(gh.fetcher, "https://api.github.com", "t", "acme/dify-aws", 7, "no marker").catch((e: Error) => (error = e));
        expect(error?.message).to.match(/marker/);
    });
});
