// Type-aware lint: typescript-eslint strictTypeChecked. Floating promises are security bugs here.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["dist/", "coverage/", "node_modules/", "eslint.config.js", ".dependency-cruiser.cjs"],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: "only the composition root (src/cli) reads process.env",
        },
      ],
    },
  },
  {
    files: ["src/cli/**/*.ts", "test/**/*.ts", "bench/**/*.ts", "vitest.config.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      // JSON bodies from HTTP answers are untyped by nature in tests.
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // The benchmarks run outside vitest and import these helpers: vitest there throws
    // "Vitest failed to access its internal state" and every benchmark that starts nodes dies.
    files: ["bench/**/*.ts", "test/support/nodes.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "vitest", message: "bench/ imports this file outside vitest" }] },
      ],
    },
  },
);
