/** Each request's rows of a capture's table, in time order, packed; by request id. */
import { PackedLists } from './packed-lists.ts';
import { PositionMap, type Positions } from './position-map.ts';

export class RequestRows extends PositionMap<readonly number[]> {
  /** The rows of the request at each position. */
  readonly rows: PackedLists;

  constructor(positions: Positions, rows: PackedLists) {
    super(positions, (i) => rows.at(i));
    this.rows = rows;
  }
}
