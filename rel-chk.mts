import { sloRules } from "./components/observability/alerts";
for (const r of sloRules({ ttftP95Seconds: 1.5, errorRatio: 0.005 }, "https://x")) console.log(JSON.stringify(r));
