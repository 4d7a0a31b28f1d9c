import { invalidOption, type Dataset, type DatasetSource } from '@imgstore/core';

/** Rebuilds a dataset from its source (see ReopenableDataset): import the module, call the factory. */
export async function loadDataset<T>(source: DatasetSource): Promise<Dataset<T>> {
  const module = (await import(source.module)) as Record<string, unknown>;
  const factory = module[source.factory] ?? (module.default as Record<string, unknown> | undefined)?.[source.factory];
  if (typeof factory !== 'function') {
    throw invalidOption('source.factory', `a function exported by ${source.module}`, source.factory);
  }
  return (await factory(...source.args)) as Dataset<T>;
}
