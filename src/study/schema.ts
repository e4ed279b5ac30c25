// zod schemas for the flow files: instruments (flows/instruments/*.yaml) and the study
// protocol (flows/study.yaml). Per-file shape is checked here; cross-references (subscales,
// locales, instruments named by the study, skip logic) are checked in load.ts.
import { z } from "zod";

const id = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,39}$/,
    "ids are lowercase letters, digits, _ and -, starting with a letter (max 40)",
  );

/** A user-visible string, one entry per locale: { en: "...", zh: "..." }. */
export const localizedSchema = z.record(
  z.string().regex(/^[a-z]{2}(-[A-Za-z]{2,4})?$/, "locale code"),
  z.string().min(1, "empty text"),
);
export type Localized = z.infer<typeof localizedSchema>;

export const optionSchema = z.strictObject({
  value: z.number({ error: "answer values must be numeric" }),
  label: localizedSchema,
});

export const answerScaleSchema = z.strictObject({
  min: z.number(),
  max: z.number(),
  options: z.array(optionSchema).min(2, "a scale needs at least two options"),
});
export type AnswerScale = z.infer<typeof answerScaleSchema>;

export const itemSchema = z.strictObject({
  id,
  /** choice: buttons from a scale; number: typed number in [min,max]; text: free text. */
  type: z.enum(["choice", "number", "text"]).default("choice"),
  scale: id.optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  subscale: id.nullable().optional(),
  reverse: z.boolean().default(false),
  required: z.boolean().default(true),
  text: localizedSchema,
  /** Skip logic: the item is asked only when this expression over earlier items holds. */
  showIf: z.string().min(1).optional(),
});
export type ItemDef = z.infer<typeof itemSchema>;

/**
 * Optional cut-off for the baseline needs assessment: a score at or below it (on the instrument's
 * scoring scale, after keying and transform) counts as "needs attention". Analysis only: it is not
 * part of the content hash and not in the codebook contract.
 */
const cutoff = z.number().optional();

export const subscaleSchema = z.strictObject({
  id,
  label: localizedSchema,
  cutoff,
});

export const instrumentSchema = z.strictObject({
  id,
  version: z.number().int().positive(),
  title: localizedSchema,
  intro: localizedSchema.optional(),
  respondent: z.enum(["parent", "child", "facilitator"]),
  scales: z.record(id, answerScaleSchema).default({}),
  /** Default answer scale for choice items that name none. */
  scale: id.optional(),
  transform: z.enum(["none", "0-100"]).default("none"),
  minAnsweredFraction: z.number().min(0).max(1).default(0.5),
  subscales: z.array(subscaleSchema).default([]),
  /** Cut-off for the total score (see subscale cutoff). */
  cutoff,
  items: z.array(itemSchema).min(1, "an instrument needs at least one item"),
});
export type InstrumentFile = z.infer<typeof instrumentSchema>;

const windowSchema = z.strictObject({
  /** enrolment: from the day the participant is added; first-session / last-session: the group's session 1 / 6. */
  anchor: z.enum(["enrolment", "first-session", "last-session"]),
  openDays: z.number().int(),
  closeDays: z.number().int(),
});

const respondentList = z.array(id).default([]);

export const studySchema = z.strictObject({
  id,
  title: localizedSchema,
  locales: z.array(z.string().regex(/^[a-z]{2}(-[A-Za-z]{2,4})?$/)).min(1),
  defaultLocale: z.string(),
  arms: z
    .array(z.strictObject({ id: z.enum(["experimental", "control"]), label: localizedSchema }))
    .min(1),
  timepoints: z.array(z.strictObject({ id, label: localizedSchema, window: windowSchema })).min(1),
  sessions: z
    .array(
      z.strictObject({
        number: z.number().int().positive(),
        title: localizedSchema,
        goal: localizedSchema,
        focus: z.array(id).default([]),
      }),
    )
    .min(1),
  assignments: z.strictObject({
    timepoints: z
      .array(
        z.strictObject({
          timepoint: id,
          /** Which participants: arms by id, and "none" for baseline-only participants. Default: all. */
          arms: z.array(z.enum(["experimental", "control", "none"])).optional(),
          parent: respondentList,
          child: respondentList,
        }),
      )
      .default([]),
    afterSession: z
      .strictObject({
        parent: respondentList,
        child: respondentList,
        facilitator: respondentList,
      })
      .default({ parent: [], child: [], facilitator: [] }),
    /** Per attending child, by the facilitator, during the session log. */
    observation: id.optional(),
    groupEnd: z
      .strictObject({ parent: respondentList, child: respondentList })
      .default({ parent: [], child: [] }),
  }),
  consent: z.strictObject({ version: z.string().min(1), text: localizedSchema }),
  assent: z.strictObject({ version: z.string().min(1), text: localizedSchema }),
  codes: z.array(z.strictObject({ id, label: localizedSchema })).default([]),
  thresholds: z
    .strictObject({
      satisfactionTotalBelow: z.number().default(36),
      satisfactionItemBelow: z.number().default(9),
      /** Flag when |facilitator rating − members' mean| exceeds this share of the scale range. */
      divergence: z.number().min(0).max(1).default(0.3),
      smallCell: z.number().int().min(1).default(5),
    })
    .default({
      satisfactionTotalBelow: 36,
      satisfactionItemBelow: 9,
      divergence: 0.3,
      smallCell: 5,
    }),
  withdrawal: z.strictObject({
    data: z.enum(["keep", "delete"]),
    text: localizedSchema.optional(),
  }),
});
export type StudyFile = z.infer<typeof studySchema>;
