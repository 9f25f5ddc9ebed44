/**
 * Posts a cost estimate on a pull request, or updates the one posted before for the same stack (found by the marker
 * `<!-- dify-aws-cost:<stack> -->` the markdown report starts with), so each push edits one comment per stack:
 *
 *   node -r ts-node/register/transpile-only tools/cost/comment.ts <owner/repo> <pr number> <file>
 *
 * GITHUB_TOKEN (the workflow's token, with pull-requests: write) authenticates; GITHUB_API_URL is honoured.
 */
import * as fs from "fs";

export type Fetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export async function postOrUpdate(fetcher: Fetch, api: string, token: string, repo: string, pr: number, body: string): Promise<"created" | "updated"> {
    const marker = /^<!-- dify-aws-cost:[^>]+ -->/.exec(body)?.[0];
    if (!marker) {
        throw new Error("the comment has no dify-aws-cost marker on its first line");
    }
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/vnd.github+json", "Content-Type": "application/json" };
    for (let page = 1; ; page++) {
        const res = await fetcher(`${api}/repos/${repo}/issues/${pr}/comments?per_page=100&page=${page}`, { headers });
        if (!res.ok) {
            throw new Error(`listing the comments of #${pr} failed with HTTP ${res.status}`);
        }
        const comments = (await res.json()) as { id: number; body?: string }[];
        const mine = comments.find((c) => c.body?.startsWith(marker));
        if (mine) {
            const patch = await fetcher(`${api}/repos/${repo}/issues/comments/${mine.id}`, { method: "PATCH", headers, body: JSON.stringify({ body }) });
            if (!patch.ok) {
                throw new Error(`updating comment ${mine.id} failed with HTTP ${patch.status}`);
            }
            return "updated";
        }
        if (comments.length < 100) {
            break;
        }
    }
    const post = await fetcher(`${api}/repos/${repo}/issues/${pr}/comments`, { method: "POST", headers, body: JSON.stringify({ body }) });
    if (!post.ok) {
        throw new Error(`commenting on #${pr} failed with HTTP ${post.status}`);
    }
    return "created";
}

if (require.main === module) {
    const [repo, pr, file] = process.argv.slice(2);
    const token = process.env.GITHUB_TOKEN;
    if (!repo || !pr || !file || !token) {
        console.error("usage: comment.ts <owner/repo> <pr number> <file>, with GITHUB_TOKEN set");
        process.exit(2);
    }
    postOrUpdate(fetch as unknown as Fetch, process.env.GITHUB_API_URL ?? "https://api.github.com", token, repo, Number(pr), fs.readFileSync(file, "utf8")).then(
        (what) => console.log(`cost comment ${what} on #${pr}`),
        (e: Error) => {
            console.error(e.message);
            process.exit(2);
        },
    );
}
