/** A friendly name to propose on a phone that has none yet ("Brave Otter"). */
const ADJECTIVES = ['Brave', 'Quick', 'Happy', 'Clever', 'Lucky', 'Sunny', 'Witty', 'Bold', 'Calm', 'Zippy', 'Jolly', 'Swift']
const ANIMALS = ['Otter', 'Fox', 'Panda', 'Koala', 'Tiger', 'Owl', 'Dolphin', 'Llama', 'Falcon', 'Badger', 'Yak', 'Lynx']

export function proposedName(random: () => number = Math.random): string {
  const pick = (list: readonly string[]): string => list[Math.floor(random() * list.length)]!
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`
}
