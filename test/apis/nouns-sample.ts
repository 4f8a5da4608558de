/**
 * A small hand-labelled sample for measuring proper-noun extraction. Conventions: people
 * without honorifics ("Dr.", "President"), possessive 's excluded, places and
 * organisations as written in full ("Bank of America"), one entry per occurrence.
 * Types: person, place, organisation, other (products, events, works, languages…).
 */
export type SampleType = 'person' | 'place' | 'organisation' | 'other';

export interface SampleSentence {
  text: string;
  entities: Array<[text: string, type: SampleType]>;
}

export const NOUNS_SAMPLE: SampleSentence[] = [
  {
    text: 'Barack Obama met Angela Merkel in Berlin on Tuesday.',
    entities: [
      ['Barack Obama', 'person'],
      ['Angela Merkel', 'person'],
      ['Berlin', 'place'],
    ],
  },
  {
    text: 'Microsoft and Google are competing for contracts with the Pentagon.',
    entities: [
      ['Microsoft', 'organisation'],
      ['Google', 'organisation'],
      ['Pentagon', 'organisation'],
    ],
  },
  {
    text: 'Taylor Swift will perform in London and Paris next summer.',
    entities: [
      ['Taylor Swift', 'person'],
      ['London', 'place'],
      ['Paris', 'place'],
    ],
  },
  {
    text: 'The United Nations held an emergency session in New York.',
    entities: [
      ['United Nations', 'organisation'],
      ['New York', 'place'],
    ],
  },
  {
    text: 'Elon Musk said Tesla would open a new factory in Texas.',
    entities: [
      ['Elon Musk', 'person'],
      ['Tesla', 'organisation'],
      ['Texas', 'place'],
    ],
  },
  {
    text: 'Dr. Jane Goodall spent decades studying chimpanzees in Tanzania.',
    entities: [
      ['Jane Goodall', 'person'],
      ['Tanzania', 'place'],
    ],
  },
  {
    text: 'Apple announced a new iPhone at its headquarters in Cupertino.',
    entities: [
      ['Apple', 'organisation'],
      ['iPhone', 'other'],
      ['Cupertino', 'place'],
    ],
  },
  {
    text: 'Serena Williams won her first title in Florida.',
    entities: [
      ['Serena Williams', 'person'],
      ['Florida', 'place'],
    ],
  },
  {
    text: 'The Red Cross sent volunteers to Haiti after the earthquake.',
    entities: [
      ['Red Cross', 'organisation'],
      ['Haiti', 'place'],
    ],
  },
  {
    text: "Shakespeare's plays are still performed at the Globe in London.",
    entities: [
      ['Shakespeare', 'person'],
      ['Globe', 'place'],
      ['London', 'place'],
    ],
  },
  {
    text: 'Amazon hired thousands of workers in Seattle and Vancouver.',
    entities: [
      ['Amazon', 'organisation'],
      ['Seattle', 'place'],
      ['Vancouver', 'place'],
    ],
  },
  {
    text: 'President Joe Biden spoke with Emmanuel Macron about Ukraine.',
    entities: [
      ['Joe Biden', 'person'],
      ['Emmanuel Macron', 'person'],
      ['Ukraine', 'place'],
    ],
  },
  {
    text: 'NASA launched a probe toward Jupiter from Florida.',
    entities: [
      ['NASA', 'organisation'],
      ['Jupiter', 'other'],
      ['Florida', 'place'],
    ],
  },
  {
    text: 'Bill Gates and Warren Buffett gave a talk at Stanford University.',
    entities: [
      ['Bill Gates', 'person'],
      ['Warren Buffett', 'person'],
      ['Stanford University', 'organisation'],
    ],
  },
  {
    text: 'The river flows from Switzerland through Germany to the Netherlands.',
    entities: [
      ['Switzerland', 'place'],
      ['Germany', 'place'],
      ['Netherlands', 'place'],
    ],
  },
  {
    text: 'Marie Curie was born in Warsaw and worked in Paris.',
    entities: [
      ['Marie Curie', 'person'],
      ['Warsaw', 'place'],
      ['Paris', 'place'],
    ],
  },
  {
    text: 'Facebook was renamed Meta in October.',
    entities: [
      ['Facebook', 'organisation'],
      ['Meta', 'organisation'],
    ],
  },
  {
    text: 'Lionel Messi joined Inter Miami after leaving Barcelona.',
    entities: [
      ['Lionel Messi', 'person'],
      ['Inter Miami', 'organisation'],
      ['Barcelona', 'organisation'],
    ],
  },
  {
    text: 'The World Health Organization warned about a new virus in Africa.',
    entities: [
      ['World Health Organization', 'organisation'],
      ['Africa', 'place'],
    ],
  },
  {
    text: 'We drove from Chicago to Denver in two days.',
    entities: [
      ['Chicago', 'place'],
      ['Denver', 'place'],
    ],
  },
  {
    text: 'Oprah Winfrey interviewed Michelle Obama about her book.',
    entities: [
      ['Oprah Winfrey', 'person'],
      ['Michelle Obama', 'person'],
    ],
  },
  {
    text: 'Goldman Sachs and JPMorgan reported higher profits this quarter.',
    entities: [
      ['Goldman Sachs', 'organisation'],
      ['JPMorgan', 'organisation'],
    ],
  },
  {
    text: 'Albert Einstein moved to Princeton in 1933.',
    entities: [
      ['Albert Einstein', 'person'],
      ['Princeton', 'place'],
    ],
  },
  {
    text: 'The Amazon rainforest covers much of Brazil and Peru.',
    entities: [
      ['Amazon', 'place'],
      ['Brazil', 'place'],
      ['Peru', 'place'],
    ],
  },
  {
    text: 'Tokyo will host the conference, according to Sony.',
    entities: [
      ['Tokyo', 'place'],
      ['Sony', 'organisation'],
    ],
  },
  {
    text: 'Nelson Mandela was released from prison in South Africa in 1990.',
    entities: [
      ['Nelson Mandela', 'person'],
      ['South Africa', 'place'],
    ],
  },
  {
    text: 'She studied at Harvard before joining the FBI.',
    entities: [
      ['Harvard', 'organisation'],
      ['FBI', 'organisation'],
    ],
  },
  {
    text: 'Mount Everest lies on the border between Nepal and China.',
    entities: [
      ['Mount Everest', 'place'],
      ['Nepal', 'place'],
      ['China', 'place'],
    ],
  },
  {
    text: 'Pablo Picasso painted Guernica in 1937.',
    entities: [
      ['Pablo Picasso', 'person'],
      ['Guernica', 'other'],
    ],
  },
  {
    text: 'Toyota recalled cars sold in Canada and Mexico.',
    entities: [
      ['Toyota', 'organisation'],
      ['Canada', 'place'],
      ['Mexico', 'place'],
    ],
  },
  {
    text: 'Mark Zuckerberg testified before the Senate in Washington.',
    entities: [
      ['Mark Zuckerberg', 'person'],
      ['Senate', 'organisation'],
      ['Washington', 'place'],
    ],
  },
  {
    text: 'The European Union fined Google for breaking competition rules.',
    entities: [
      ['European Union', 'organisation'],
      ['Google', 'organisation'],
    ],
  },
  {
    text: 'Yesterday John Smith flew from Dublin to Boston.',
    entities: [
      ['John Smith', 'person'],
      ['Dublin', 'place'],
      ['Boston', 'place'],
    ],
  },
  {
    text: 'Frida Kahlo lived in Mexico City with Diego Rivera.',
    entities: [
      ['Frida Kahlo', 'person'],
      ['Mexico City', 'place'],
      ['Diego Rivera', 'person'],
    ],
  },
  {
    text: 'Netflix signed a deal with the BBC to stream its dramas.',
    entities: [
      ['Netflix', 'organisation'],
      ['BBC', 'organisation'],
    ],
  },
  {
    text: 'Cristiano Ronaldo scored twice for Portugal against Spain.',
    entities: [
      ['Cristiano Ronaldo', 'person'],
      ['Portugal', 'place'],
      ['Spain', 'place'],
    ],
  },
  {
    text: 'The Louvre in Paris displays the Mona Lisa.',
    entities: [
      ['Louvre', 'place'],
      ['Paris', 'place'],
      ['Mona Lisa', 'other'],
    ],
  },
  {
    text: 'Intel and Samsung are building chip plants in Arizona.',
    entities: [
      ['Intel', 'organisation'],
      ['Samsung', 'organisation'],
      ['Arizona', 'place'],
    ],
  },
  {
    text: 'Greta Thunberg sailed across the Atlantic to attend a summit.',
    entities: [
      ['Greta Thunberg', 'person'],
      ['Atlantic', 'place'],
    ],
  },
  {
    text: 'The meeting was moved to Monday because it rained all weekend.',
    entities: [],
  },
  {
    text: 'Sundar Pichai runs Alphabet from Mountain View, California.',
    entities: [
      ['Sundar Pichai', 'person'],
      ['Alphabet', 'organisation'],
      ['Mountain View', 'place'],
      ['California', 'place'],
    ],
  },
  {
    text: 'Most people prefer coffee in the morning and tea in the evening.',
    entities: [],
  },
];

/**
 * Written after the extraction heuristics were final and never used to tune them: the
 * honest estimate. Same conventions as NOUNS_SAMPLE.
 */
export const NOUNS_HELDOUT: SampleSentence[] = [
  {
    text: 'Rishi Sunak visited Edinburgh to meet local business leaders.',
    entities: [
      ['Rishi Sunak', 'person'],
      ['Edinburgh', 'place'],
    ],
  },
  {
    text: 'The Bank of England raised interest rates again.',
    entities: [['Bank of England', 'organisation']],
  },
  {
    text: 'Venus Williams and Andy Murray played an exhibition match in Madrid.',
    entities: [
      ['Venus Williams', 'person'],
      ['Andy Murray', 'person'],
      ['Madrid', 'place'],
    ],
  },
  {
    text: 'IBM opened a research lab in Nairobi, Kenya.',
    entities: [
      ['IBM', 'organisation'],
      ['Nairobi', 'place'],
      ['Kenya', 'place'],
    ],
  },
  {
    text: 'Last year Ada Lovelace was honoured on a banknote.',
    entities: [['Ada Lovelace', 'person']],
  },
  {
    text: 'Volkswagen moved some production from Germany to Poland.',
    entities: [
      ['Volkswagen', 'organisation'],
      ['Germany', 'place'],
      ['Poland', 'place'],
    ],
  },
  {
    text: 'The Danube passes through Vienna and Budapest.',
    entities: [
      ['Danube', 'place'],
      ['Vienna', 'place'],
      ['Budapest', 'place'],
    ],
  },
  {
    text: 'Jacinda Ardern spoke at Harvard about leadership.',
    entities: [
      ['Jacinda Ardern', 'person'],
      ['Harvard', 'organisation'],
    ],
  },
  {
    text: 'Spotify and Uber both reported losses in the first quarter.',
    entities: [
      ['Spotify', 'organisation'],
      ['Uber', 'organisation'],
    ],
  },
  {
    text: 'My cousin David Brown lives in Manchester near the football stadium.',
    entities: [
      ['David Brown', 'person'],
      ['Manchester', 'place'],
    ],
  },
  {
    text: 'The International Monetary Fund lowered its forecast for Argentina.',
    entities: [
      ['International Monetary Fund', 'organisation'],
      ['Argentina', 'place'],
    ],
  },
  {
    text: 'Leonardo da Vinci painted the Last Supper in Milan.',
    entities: [
      ['Leonardo da Vinci', 'person'],
      ['Last Supper', 'other'],
      ['Milan', 'place'],
    ],
  },
  {
    text: 'Ticket prices rose sharply after the storm.',
    entities: [],
  },
  {
    text: 'Satya Nadella said Microsoft would invest in Australia.',
    entities: [
      ['Satya Nadella', 'person'],
      ['Microsoft', 'organisation'],
      ['Australia', 'place'],
    ],
  },
  {
    text: 'Flights from Singapore to Sydney were delayed on Friday.',
    entities: [
      ['Singapore', 'place'],
      ['Sydney', 'place'],
    ],
  },
  {
    text: 'Ernest Hemingway wrote part of the novel in Key West.',
    entities: [
      ['Ernest Hemingway', 'person'],
      ['Key West', 'place'],
    ],
  },
  {
    text: 'The Smithsonian Institution lent two fossils to a museum in Ottawa.',
    entities: [
      ['Smithsonian Institution', 'organisation'],
      ['Ottawa', 'place'],
    ],
  },
  {
    text: 'Priya Patel joined Deloitte after graduating from Oxford.',
    entities: [
      ['Priya Patel', 'person'],
      ['Deloitte', 'organisation'],
      ['Oxford', 'organisation'],
    ],
  },
  {
    text: 'Heavy snow closed roads across Norway and Sweden.',
    entities: [
      ['Norway', 'place'],
      ['Sweden', 'place'],
    ],
  },
  {
    text: 'Kofi Annan led the United Nations for ten years.',
    entities: [
      ['Kofi Annan', 'person'],
      ['United Nations', 'organisation'],
    ],
  },
];
