/**
 * @module xfv/maps
 * The names of an explanation's maps, defined once: per image (a, b) a similarity and a
 * dissimilarity map; a selector names one as `<image>.<kind>`. The API's schema, the stored
 * result's layout and the artifacts all use this list, in this order.
 */
export const MAP_IMAGES = ['a', 'b'] as const;
export const MAP_KINDS = ['similarity', 'dissimilarity'] as const;
export type MapImage = (typeof MAP_IMAGES)[number];
export type MapKind = (typeof MAP_KINDS)[number];
export type MapSelector = `${MapImage}.${MapKind}`;

export const MAP_SELECTORS = [
  'a.similarity',
  'a.dissimilarity',
  'b.similarity',
  'b.dissimilarity',
] as const satisfies readonly MapSelector[];

/** Image and kind of a selector. */
export const parseSelector = (selector: MapSelector) => selector.split('.') as [MapImage, MapKind];
