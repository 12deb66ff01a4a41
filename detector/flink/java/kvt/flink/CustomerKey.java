package kvt.flink;

import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.types.Row;

/** A row's customer id (field 5), or "" for a message without one (poison: released at once). */
public class CustomerKey implements KeySelector<Row, String> {
  private static final long serialVersionUID = 1L;

  @Override
  public String getKey(Row row) {
    Object c = row.getField(5);
    return c == null ? "" : (String) c;
  }
}
