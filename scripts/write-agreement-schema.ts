// Writes spec/agreement.schema.json from the one zod schema the validator uses (npm run spec:schema).
import { writeFileSync } from "node:fs";
import { agreementJsonSchema } from "../src/core/agreement/schema.js";

const schema = {
  $id: "https://accord.invalid/spec/agreement.schema.json",
  title: "Accord agreement document",
  ...agreementJsonSchema(),
};
writeFileSync(
  new URL("../spec/agreement.schema.json", import.meta.url),
  `${JSON.stringify(schema, null, 2)}\n`,
);
