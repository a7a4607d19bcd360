import { createRequire } from "node:module";
import type * as Cdk8s from "cdk8s";
import type * as Kplus from "cdk8s-plus-28";
import type * as Constructs from "constructs";

/**
 * cdk8s, cdk8s-plus-28 and constructs, loaded with `require`. All three are CommonJS: an ES `import` of them makes
 * Node first scan their source for named exports (cdk8s-plus' generated k8s.js alone is 2.7 MB), which cost more
 * than loading them (measured: 0.5–1.1 s against 0.26–0.42 s for both packages on the 2-core CI machine). Modules
 * use these values, and `import type` for the types, which costs nothing at run time.
 */
const load = createRequire(import.meta.url);

export const cdk8s = load("cdk8s") as typeof Cdk8s;
export const kplus = load("cdk8s-plus-28") as typeof Kplus;
export const constructs = load("constructs") as typeof Constructs;
