import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ResolvedModel, StackContext } from "../../config/types.js";
import { stackLabels } from "../shared/labels.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { registerObjects } from "../shared/register.js";
import { DATABASE, DATABASE_USER, POSTGRES_PORT, REGISTRY_DB_LABELS, REGISTRY_SECRET_NAME, registryHost, SECRET_KEYS } from "./names.js";
import { buildDatabaseObjects, buildHealthObjects, buildMigrationObjects, buildRegistrationObjects } from "./objects.js";

export interface RegistryDatabaseArgs {
  /** The stack: namespace, `images.postgres`, `registry` settings (mode, storage), router labels. */
  readonly stack: StackContext;
  /** The models to register once they are ready. */
  readonly models: readonly ResolvedModel[];
  /**
   * The models' Deployments: registration waits until every one is ready (the Kubernetes provider awaits
   * Deployment readiness before it reports them created).
   */
  readonly deployments: readonly pulumi.Resource[];
  /**
   * Connection URL of an external database, a Pulumi secret (`modelfleet:registry.url`). Required in external mode.
   * @default none (in-cluster mode generates a password)
   */
  readonly externalUrl?: pulumi.Input<string>;
  /**
   * Resources every registry object waits for, e.g. the Namespace.
   * @default none
   */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * The model registry database (`model_registry_entries`): PostgreSQL in the cluster (or an external one), its
 * schema migrations as a Job, the stack's models registered by a Job once they are ready, and a long-running health checker Deployment.
 */
export class RegistryDatabase extends pulumi.ComponentResource {
  /** The Secret every client reads the connection URL from (key `url`). */
  readonly connectionSecretName: pulumi.Output<string>;
  /**
   * The in-cluster server's client Service host (`modelfleet-registry.<namespace>.svc.cluster.local`, port 5432);
   * undefined in external mode, whose host is part of the secret URL.
   */
  readonly serviceHost: pulumi.Output<string | undefined>;

  constructor(name: string, args: RegistryDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelfleet:registry:RegistryDatabase", name, {}, opts);
    const { stack } = args;
    const parent = { parent: this };
    let stringData: Record<string, pulumi.Input<string>>;
    if (stack.registry.mode === "external") {
      if (args.externalUrl === undefined) throw new Error("registry.mode is external, but no registry.url secret was passed to RegistryDatabase");
      stringData = { [SECRET_KEYS.url]: pulumi.secret(args.externalUrl) };
    } else {
      // Letters and digits only: the password goes into a URL unescaped.
      const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, parent).result;
      stringData = {
        [SECRET_KEYS.password]: password,
        [SECRET_KEYS.url]: pulumi.secret(pulumi.interpolate`postgres://${DATABASE_USER}:${password}@${registryHost(stack.namespace)}:${POSTGRES_PORT}/${DATABASE}`),
      };
    }
    const secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: { name: REGISTRY_SECRET_NAME, namespace: stack.namespace, labels: { ...stackLabels(stack), ...REGISTRY_DB_LABELS } },
        type: "Opaque",
        stringData,
      },
      { ...parent, deleteBeforeReplace: true, dependsOn: [...(args.dependsOn ?? [])] },
    );
    const base = [...(args.dependsOn ?? []), secret];
    // Each group's ConfigMaps and ServiceAccount first, then its workloads waiting for them (and for `after`): a
    // Job's pod never starts before its script and its account exist.
    const register = (objects: K8sObject[], prefix: string, dependsOn: pulumi.Resource[], after: readonly pulumi.Resource[] = []): pulumi.CustomResource[] => {
      const isScript = (o: K8sObject) => o.kind === "ConfigMap" || o.kind === "ServiceAccount";
      const scripts = [...registerObjects(objects.filter(isScript), { prefix, parent: this, dependsOn }).values()];
      const rest = [...registerObjects(objects.filter((o) => !isScript(o)), { prefix, parent: this, dependsOn: [...dependsOn, ...after, ...scripts] }).values()];
      return [...scripts, ...rest];
    };
    const database = register(buildDatabaseObjects(stack), name, base);
    const migration = register(buildMigrationObjects(stack), `${name}-migrate`, base, database);
    register(buildRegistrationObjects(stack, args.models), `${name}-register`, base, [...migration, ...args.deployments]);
    register(buildHealthObjects(stack), `${name}-health`, base, migration);

    this.connectionSecretName = pulumi.output(REGISTRY_SECRET_NAME);
    this.serviceHost = pulumi.output(stack.registry.mode === "external" ? undefined : registryHost(stack.namespace));
    this.registerOutputs({ connectionSecretName: this.connectionSecretName, serviceHost: this.serviceHost });
  }
}
