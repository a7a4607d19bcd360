import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ResolvedModel, StackContext } from "../../stacks/config/types.js";
import { stackLabels } from "../shared/labels.js";
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
 * schema migrations as a Job, the stack's models registered by a Job once they are ready, and a health CronJob.
 */
export class RegistryDatabase extends pulumi.ComponentResource {
  /** The Secret every client reads the connection URL from (key `url`). */
  readonly connectionSecretName: pulumi.Output<string>;
  /** `host:port` of the in-cluster server, or "external". */
  readonly address: pulumi.Output<string>;

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
    const database = [...registerObjects(buildDatabaseObjects(stack), { prefix: name, parent: this, dependsOn: base }).values()];
    const migration = [...registerObjects(buildMigrationObjects(stack), { prefix: `${name}-migrate`, parent: this, dependsOn: [...base, ...database] }).values()];
    registerObjects(buildRegistrationObjects(stack, args.models), {
      prefix: `${name}-register`,
      parent: this,
      dependsOn: [...base, ...migration, ...args.deployments],
    });
    registerObjects(buildHealthObjects(stack), { prefix: `${name}-health`, parent: this, dependsOn: [...base, ...migration] });

    this.connectionSecretName = pulumi.output(REGISTRY_SECRET_NAME);
    this.address = pulumi.output(stack.registry.mode === "external" ? "external" : `${registryHost(stack.namespace)}:${POSTGRES_PORT}`);
    this.registerOutputs({ connectionSecretName: this.connectionSecretName, address: this.address });
  }
}
