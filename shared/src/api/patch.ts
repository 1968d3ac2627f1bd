import { z } from 'zod';

/**
 * The schema of a partial update: every field optional and WITHOUT its default. (zod 4 applies
 * defaults inside `.partial()`, so an update naming one field would reset all the others.)
 */
export function patchSchema<S extends z.ZodRawShape>(fields: z.ZodObject<S>): z.ZodType<Partial<z.output<z.ZodObject<S>>>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(fields.shape) as [string, z.ZodType][]) {
    shape[key] = (field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : field).optional();
  }
  return z.object(shape) as unknown as z.ZodType<Partial<z.output<z.ZodObject<S>>>>;
}
