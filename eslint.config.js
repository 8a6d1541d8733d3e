import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", ".data/**", "bench/results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      // Apps log through pino (redaction, JSON); scripts and examples talk to a person.
      "no-console": "error",
    },
  },
  { files: ["scripts/**", "examples/**", "bench/**"], rules: { "no-console": "off" } },
);
